-- One row per raw record: whether its asset link resolves in its tenant and
-- whether a flow of its import has run create_assets_from_discovery.
with

raw_records as (
    select * from {{ ref('stg_migration__raw_import_records') }}
),

assets as (
    select * from {{ ref('stg_migration__assets') }}
),

discovery_flows as (
    select * from {{ ref('stg_migration__discovery_flows') }}
),

inventory_runs as (
    select * from {{ ref('stg_migration__asset_inventory_runs') }}
),

-- Imports at least one of whose discovery flows has an inventory run.
imports_run as (
    select distinct
        discovery_flows.client_account_id,
        discovery_flows.engagement_id,
        discovery_flows.data_import_id
    from discovery_flows
    inner join inventory_runs
        on
            discovery_flows.client_account_id = inventory_runs.client_account_id
            and discovery_flows.engagement_id = inventory_runs.engagement_id
            and discovery_flows.discovery_flow_id = inventory_runs.discovery_flow_id
    where discovery_flows.data_import_id is not null
),

joined as (
    select
        raw_records.client_account_id,
        raw_records.engagement_id,
        raw_records.raw_import_record_id,
        raw_records.data_import_id,
        raw_records.master_flow_id,
        raw_records.row_number,
        raw_records.is_valid,
        raw_records.is_processed,
        raw_records.processed_at,
        raw_records.processing_status,
        raw_records.asset_id,
        raw_records.created_at,
        assets.asset_id is not null as asset_found,
        imports_run.data_import_id is not null as import_flow_has_run
    from raw_records
    left join assets
        on
            raw_records.client_account_id = assets.client_account_id
            and raw_records.engagement_id = assets.engagement_id
            and raw_records.asset_id = assets.asset_id
    left join imports_run
        on
            raw_records.client_account_id = imports_run.client_account_id
            and raw_records.engagement_id = imports_run.engagement_id
            and raw_records.data_import_id = imports_run.data_import_id
),

final as (
    select
        joined.*,
        joined.asset_id is null
        and not joined.is_processed
        and joined.import_flow_has_run
            as is_left_behind,
        joined.asset_id is null
        and joined.is_processed
        and coalesce(joined.processing_status not in ('invalid', 'conflict'), true)
            as is_processed_without_asset,
        joined.asset_id is not null and not joined.asset_found
            as has_orphan_asset_ref,
        not joined.is_processed and not joined.import_flow_has_run as is_pending
    from joined
)

select * from final
