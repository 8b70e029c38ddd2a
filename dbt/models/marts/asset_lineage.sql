-- One row per asset as of this build (measured_at): its tenant by name, where
-- it came from (raw record, import, discovery flow, master flow), the outcome
-- of its raw record, and whether it is wired.
with

tenants as (
    select * from {{ ref('int_tenants') }}
),

asset_lineage as (
    select * from {{ ref('int_asset_lineage') }}
),

data_imports as (
    select * from {{ ref('stg_migration__data_imports') }}
),

final as (
    select
        asset_lineage.client_account_id,
        asset_lineage.engagement_id,
        tenants.client_account_name,
        tenants.engagement_name,
        asset_lineage.asset_id,
        asset_lineage.asset_name,
        asset_lineage.asset_type,
        asset_lineage.hostname,
        asset_lineage.discovery_method,
        asset_lineage.asset_status,
        asset_lineage.asset_created_at,
        asset_lineage.deleted_at,
        asset_lineage.raw_import_record_id,
        asset_lineage.raw_row_number,
        asset_lineage.raw_processing_status as outcome,
        asset_lineage.raw_processed_at,
        asset_lineage.data_import_id,
        data_imports.import_name,
        data_imports.filename,
        asset_lineage.discovery_flow_id,
        asset_lineage.flow_id,
        asset_lineage.master_flow_id,
        asset_lineage.master_flow_status,
        asset_lineage.legacy_flow_id,
        asset_lineage.raw_record_found,
        asset_lineage.discovery_flow_found,
        asset_lineage.master_flow_found,
        coalesce(asset_lineage.raw_record_asset_id = asset_lineage.asset_id, false)
            as raw_record_points_back,
        asset_lineage.discovery_flow_id_is_public_id,
        asset_lineage.wiring_status,
        {{ measured_at() }} as measured_at
    from asset_lineage
    left join tenants
        on
            asset_lineage.client_account_id = tenants.client_account_id
            and asset_lineage.engagement_id = tenants.engagement_id
    left join data_imports
        on
            asset_lineage.client_account_id = data_imports.client_account_id
            and asset_lineage.engagement_id = data_imports.engagement_id
            and asset_lineage.data_import_id = data_imports.data_import_id
)

select * from final
