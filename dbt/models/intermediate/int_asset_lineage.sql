-- One row per asset (soft-deleted ones included): the chain
-- raw record → data import → discovery flow → master flow, each link with
-- whether it resolves inside the asset's tenant.
with

assets as (
    select * from {{ ref('stg_migration__assets') }}
),

raw_records as (
    select * from {{ ref('stg_migration__raw_import_records') }}
),

discovery_flows as (
    select * from {{ ref('stg_migration__discovery_flows') }}
),

master_flows as (
    select * from {{ ref('stg_migration__crewai_flow_state_extensions') }}
),

-- Public flow IDs of the tenant: a discovery_flow_id equal to one of them is
-- the discovery_flow_id / flow_id mix-up.
public_flow_ids as (
    select distinct
        client_account_id,
        engagement_id,
        flow_id
    from discovery_flows
),

joined as (
    select
        assets.client_account_id,
        assets.engagement_id,
        assets.asset_id,
        assets.asset_name,
        assets.asset_type,
        assets.hostname,
        assets.discovery_method,
        assets.is_flow_based,
        assets.is_deleted,
        assets.asset_status,
        assets.created_at as asset_created_at,
        assets.deleted_at,
        assets.legacy_flow_id,
        assets.raw_import_record_id,
        raw_records.row_number as raw_row_number,
        raw_records.asset_id as raw_record_asset_id,
        raw_records.processing_status as raw_processing_status,
        raw_records.processed_at as raw_processed_at,
        assets.discovery_flow_id,
        discovery_flows.flow_id,
        discovery_flows.master_flow_id as flow_master_flow_id,
        assets.master_flow_id,
        master_flows.flow_status as master_flow_status,
        coalesce(raw_records.data_import_id, discovery_flows.data_import_id) as data_import_id,
        raw_records.raw_import_record_id is not null as raw_record_found,
        discovery_flows.discovery_flow_id is not null as discovery_flow_found,
        master_flows.master_flow_id is not null as master_flow_found,
        public_flow_ids.flow_id is not null as discovery_flow_id_is_public_id
    from assets
    left join raw_records
        on
            assets.client_account_id = raw_records.client_account_id
            and assets.engagement_id = raw_records.engagement_id
            and assets.raw_import_record_id = raw_records.raw_import_record_id
    left join discovery_flows
        on
            assets.client_account_id = discovery_flows.client_account_id
            and assets.engagement_id = discovery_flows.engagement_id
            and assets.discovery_flow_id = discovery_flows.discovery_flow_id
    left join master_flows
        on
            assets.client_account_id = master_flows.client_account_id
            and assets.engagement_id = master_flows.engagement_id
            and assets.master_flow_id = master_flows.master_flow_id
    left join public_flow_ids
        on
            assets.client_account_id = public_flow_ids.client_account_id
            and assets.engagement_id = public_flow_ids.engagement_id
            and assets.discovery_flow_id = public_flow_ids.flow_id
),

flagged as (
    select
        joined.*,
        joined.is_flow_based and joined.discovery_flow_id is null
            as is_missing_discovery_flow_id,
        joined.discovery_flow_id is not null and not joined.discovery_flow_found
            as has_unknown_discovery_flow_id,
        joined.discovery_flow_found
        and (joined.master_flow_id is distinct from joined.flow_master_flow_id)
            as has_mismatched_master_flow_id,
        joined.is_flow_based and joined.raw_import_record_id is null
            as is_missing_raw_import_id,
        joined.raw_import_record_id is not null and not joined.raw_record_found
            as has_orphan_raw_ref,
        joined.raw_record_found
        and (joined.raw_record_asset_id is distinct from joined.asset_id)
            as has_disagreeing_link,
        joined.legacy_flow_id is not null and joined.discovery_flow_id is null
            as has_legacy_flow_id_only
    from joined
),

final as (
    select
        flagged.*,
        case
            when flagged.is_deleted then 'deleted'
            when
                flagged.is_missing_discovery_flow_id
                or flagged.has_unknown_discovery_flow_id
                or flagged.has_mismatched_master_flow_id
                or flagged.is_missing_raw_import_id
                or flagged.has_orphan_raw_ref
                or flagged.has_disagreeing_link
                or flagged.has_legacy_flow_id_only
                then 'broken'
            when flagged.is_flow_based then 'wired'
            else 'manual'
        end as wiring_status
    from flagged
)

select * from final
