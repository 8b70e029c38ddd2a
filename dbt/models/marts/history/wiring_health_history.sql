-- One row per tenant per build: the wiring_health row of that build
-- (measured_at), next to the tenant's row of the build before, so that
-- "what changed since the last build" is one filter. Appended by each build,
-- never rebuilt (`--full-refresh` does not apply: full_refresh is off).
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    full_refresh=false,
    on_schema_change='append_new_columns',
    post_hook=[
        "create index if not exists wiring_health_history_tenant_idx
         on {{ this }} (client_account_id, engagement_id, measured_at)",
        "create index if not exists wiring_health_history_measured_at_idx on {{ this }} (measured_at)",
    ],
) }}

with

current_health as (
    select * from {{ ref('wiring_health') }}
),

{% if is_incremental() %}
    previous_health as (
        select distinct on (client_account_id, engagement_id)
            client_account_id,
            engagement_id,
            measured_at,
            health_status,
            gaps_total
        from {{ this }}
        where measured_at < {{ measured_at() }}
        order by client_account_id asc, engagement_id asc, measured_at desc
    ),
{% else %}
    previous_health as (
        select
            cast(null as uuid) as client_account_id,
            cast(null as uuid) as engagement_id,
            cast(null as timestamptz) as measured_at,
            cast(null as text) as health_status,
            cast(null as bigint) as gaps_total
        where false
    ),
{% endif %}

final as (
    select
        current_health.measured_at,
        current_health.client_account_id,
        current_health.engagement_id,
        current_health.client_account_name,
        current_health.engagement_name,
        current_health.health_status,
        current_health.unhealthy_because,
        current_health.gaps_total,
        current_health.assets_missing_discovery_flow_id,
        current_health.assets_with_unknown_discovery_flow_id,
        current_health.assets_with_mismatched_master_flow_id,
        current_health.assets_missing_raw_import_id,
        current_health.assets_with_orphan_raw_ref,
        current_health.links_disagree,
        current_health.raw_records_missing_asset_id,
        current_health.processed_records_missing_asset_id,
        current_health.raw_with_orphan_asset_ref,
        current_health.assets_with_legacy_flow_id_only,
        current_health.raw_records_pending,
        current_health.total_assets,
        current_health.total_raw_records,
        current_health.linked_raw_records,
        previous_health.measured_at as previous_measured_at,
        previous_health.health_status as previous_health_status,
        previous_health.gaps_total as previous_gaps_total,
        current_health.gaps_total - coalesce(previous_health.gaps_total, 0) as gaps_change,
        (previous_health.health_status is distinct from current_health.health_status)
            as health_status_changed
    from current_health
    left join previous_health
        on
            current_health.client_account_id = previous_health.client_account_id
            and current_health.engagement_id = previous_health.engagement_id
    {% if is_incremental() %}
        where not exists (
            select 1 from {{ this }} as already
            where already.measured_at = current_health.measured_at
        )
    {% endif %}
)

select * from final
