-- One row per gap, for the ten checks of discovery.wiring_health (same
-- names, same definitions). Soft-deleted assets are not gaps.
with

asset_lineage as (
    select * from {{ ref('int_asset_lineage') }}
    where not is_deleted
),

raw_record_status as (
    select * from {{ ref('int_raw_record_status') }}
),

-- Rows of any tenant, looked up by ID only (through the `*_tenant_key`
-- indexes) to tell a reference to another tenant's row from an orphan.
any_assets as (
    select asset_id from {{ ref('stg_migration__assets') }}
),

any_raw_records as (
    select raw_import_record_id from {{ ref('stg_migration__raw_import_records') }}
),

any_discovery_flows as (
    select discovery_flow_id from {{ ref('stg_migration__discovery_flows') }}
),

asset_gaps as (
    select
        checks.check_name,
        asset_lineage.client_account_id,
        asset_lineage.engagement_id,
        'asset' as object_type,
        asset_lineage.asset_id as object_id,
        asset_lineage.asset_id,
        asset_lineage.raw_import_record_id,
        asset_lineage.discovery_flow_id,
        asset_lineage.master_flow_id,
        asset_lineage.data_import_id,
        asset_lineage.discovery_flow_id_is_public_id as is_public_flow_id
    from asset_lineage
    cross join
        lateral (
            values
            ('assets_missing_discovery_flow_id', asset_lineage.is_missing_discovery_flow_id),
            ('assets_with_unknown_discovery_flow_id', asset_lineage.has_unknown_discovery_flow_id),
            ('assets_with_mismatched_master_flow_id', asset_lineage.has_mismatched_master_flow_id),
            ('assets_missing_raw_import_id', asset_lineage.is_missing_raw_import_id),
            ('assets_with_orphan_raw_ref', asset_lineage.has_orphan_raw_ref),
            ('links_disagree', asset_lineage.has_disagreeing_link),
            ('assets_with_legacy_flow_id_only', asset_lineage.has_legacy_flow_id_only)
        ) as checks (check_name, is_gap)
    where checks.is_gap
),

raw_record_gaps as (
    select
        checks.check_name,
        raw_record_status.client_account_id,
        raw_record_status.engagement_id,
        'raw_import_record' as object_type,
        raw_record_status.raw_import_record_id as object_id,
        raw_record_status.asset_id,
        raw_record_status.raw_import_record_id,
        cast(null as uuid) as discovery_flow_id,
        raw_record_status.master_flow_id,
        raw_record_status.data_import_id,
        false as is_public_flow_id
    from raw_record_status
    cross join
        lateral (
            values
            ('raw_records_missing_asset_id', raw_record_status.is_left_behind),
            ('processed_records_missing_asset_id', raw_record_status.is_processed_without_asset),
            ('raw_with_orphan_asset_ref', raw_record_status.has_orphan_asset_ref)
        ) as checks (check_name, is_gap)
    where checks.is_gap
),

all_gaps as (
    select * from asset_gaps
    union all
    select * from raw_record_gaps
),

-- What kind of broken reference the gap is.
final as (
    select
        all_gaps.*,
        case
            when all_gaps.check_name in (
                'assets_missing_discovery_flow_id', 'assets_missing_raw_import_id',
                'processed_records_missing_asset_id'
            ) then 'missing'
            when all_gaps.check_name = 'raw_records_missing_asset_id' then 'left_behind'
            when all_gaps.check_name = 'assets_with_mismatched_master_flow_id' then 'mismatch'
            when all_gaps.check_name = 'links_disagree' then 'not_pointing_back'
            when all_gaps.check_name = 'assets_with_legacy_flow_id_only' then 'legacy_only'
            when all_gaps.check_name = 'assets_with_unknown_discovery_flow_id' and all_gaps.is_public_flow_id
                then 'flow_id_mixup'
            when all_gaps.check_name = 'assets_with_unknown_discovery_flow_id' and exists (
                select 1 from any_discovery_flows
                where any_discovery_flows.discovery_flow_id = all_gaps.discovery_flow_id
            ) then 'cross_tenant'
            when all_gaps.check_name = 'assets_with_orphan_raw_ref' and exists (
                select 1 from any_raw_records
                where any_raw_records.raw_import_record_id = all_gaps.raw_import_record_id
            ) then 'cross_tenant'
            when all_gaps.check_name = 'raw_with_orphan_asset_ref' and exists (
                select 1 from any_assets
                where any_assets.asset_id = all_gaps.asset_id
            ) then 'cross_tenant'
            else 'orphan'
        end as reference_kind
    from all_gaps
)

select * from final
