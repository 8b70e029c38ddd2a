-- One row per gap episode: a gap of wiring_gaps from the build that first
-- found it (first_seen_at) to the last build that still found it
-- (last_seen_at) and the first build that no longer did (resolved_at; null
-- while the gap is open). "When did this gap appear" and "what did the last
-- repair fix" are one filter each. Each build updates the open episodes
-- (delete+insert on the episode key) and never rebuilds the table.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['client_account_id', 'engagement_id', 'gap_id', 'first_seen_at'],
    full_refresh=false,
    on_schema_change='append_new_columns',
    post_hook=[
        "create index if not exists wiring_gaps_history_open_idx
         on {{ this }} (client_account_id, engagement_id, gap_id) where resolved_at is null",
        "create index if not exists wiring_gaps_history_resolved_at_idx
         on {{ this }} (resolved_at) where resolved_at is not null",
    ],
) }}

with

current_gaps as (
    select * from {{ ref('wiring_gaps') }}
),

{% if is_incremental() %}
    open_gaps as (
        select * from {{ this }}
        where resolved_at is null
    ),
{% endif %}

seen as (
    select
        current_gaps.client_account_id,
        current_gaps.engagement_id,
        current_gaps.gap_id,
        {% if is_incremental() %}
            coalesce(open_gaps.first_seen_at, current_gaps.measured_at) as first_seen_at,
        {% else %}
            current_gaps.measured_at as first_seen_at,
        {% endif %}
        current_gaps.measured_at as last_seen_at,
        cast(null as timestamptz) as resolved_at,
        current_gaps.client_account_name,
        current_gaps.engagement_name,
        current_gaps.check_name,
        current_gaps.reference_kind,
        current_gaps.severity,
        current_gaps.object_type,
        current_gaps.object_id,
        current_gaps.asset_id,
        current_gaps.raw_import_record_id,
        current_gaps.discovery_flow_id,
        current_gaps.master_flow_id,
        current_gaps.data_import_id,
        current_gaps.import_name
    from current_gaps
    {% if is_incremental() %}
        left join open_gaps
            on
                current_gaps.client_account_id = open_gaps.client_account_id
                and current_gaps.engagement_id = open_gaps.engagement_id
                and current_gaps.gap_id = open_gaps.gap_id
    {% endif %}
),

{% if is_incremental() %}
    resolved as (
        select
            open_gaps.client_account_id,
            open_gaps.engagement_id,
            open_gaps.gap_id,
            open_gaps.first_seen_at,
            open_gaps.last_seen_at,
            {{ measured_at() }} as resolved_at,
            open_gaps.client_account_name,
            open_gaps.engagement_name,
            open_gaps.check_name,
            open_gaps.reference_kind,
            open_gaps.severity,
            open_gaps.object_type,
            open_gaps.object_id,
            open_gaps.asset_id,
            open_gaps.raw_import_record_id,
            open_gaps.discovery_flow_id,
            open_gaps.master_flow_id,
            open_gaps.data_import_id,
            open_gaps.import_name
        from open_gaps
        where not exists (
            select 1 from current_gaps
            where
                current_gaps.client_account_id = open_gaps.client_account_id
                and current_gaps.engagement_id = open_gaps.engagement_id
                and current_gaps.gap_id = open_gaps.gap_id
        )
    ),
{% endif %}

final as (
    select * from seen
    {% if is_incremental() %}
        union all
        select * from resolved
    {% endif %}
)

select * from final
