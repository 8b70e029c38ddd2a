-- discovery_health.wiring_health equals discovery.wiring_health() for every
-- tenant: each of the ten counts and health_status. Selects the tenants and
-- keys that differ (the mart's value next to the API's).
{{ after_the_build() }}
with

mart as (
    select * from {{ ref('wiring_health') }}
),

-- Materialised: inlined, the planner called discovery.wiring_health() once
-- per compared key (twelve times per tenant).
api as materialized (
    select
        mart.client_account_id,
        mart.engagement_id,
        discovery.wiring_health(
            p_client_account_id => mart.client_account_id,
            p_engagement_id => mart.engagement_id
        ) as health
    from mart
),

compared as (
    select
        mart.client_account_id,
        mart.engagement_id,
        health_keys.health_key,
        health_keys.mart_value,
        api.health ->> health_keys.health_key as api_value
    from mart
    inner join api
        on
            mart.client_account_id = api.client_account_id
            and mart.engagement_id = api.engagement_id
    cross join lateral (
        values
        ('assets_missing_discovery_flow_id', cast(mart.assets_missing_discovery_flow_id as text)),
        ('assets_with_unknown_discovery_flow_id', cast(mart.assets_with_unknown_discovery_flow_id as text)),
        ('assets_with_mismatched_master_flow_id', cast(mart.assets_with_mismatched_master_flow_id as text)),
        ('assets_missing_raw_import_id', cast(mart.assets_missing_raw_import_id as text)),
        ('assets_with_orphan_raw_ref', cast(mart.assets_with_orphan_raw_ref as text)),
        ('links_disagree', cast(mart.links_disagree as text)),
        ('raw_records_missing_asset_id', cast(mart.raw_records_missing_asset_id as text)),
        ('processed_records_missing_asset_id', cast(mart.processed_records_missing_asset_id as text)),
        ('raw_with_orphan_asset_ref', cast(mart.raw_with_orphan_asset_ref as text)),
        ('assets_with_legacy_flow_id_only', cast(mart.assets_with_legacy_flow_id_only as text)),
        ('health_status', mart.health_status),
        ('raw_records_pending', cast(mart.raw_records_pending as text))
    ) as health_keys (health_key, mart_value)
),

final as (
    select * from compared
    where mart_value is distinct from api_value
)

select * from final
