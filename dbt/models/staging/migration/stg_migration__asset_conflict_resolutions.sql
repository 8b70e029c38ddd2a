with

source as (
    select * from {{ source('migration', 'asset_conflict_resolutions') }}
),

renamed as (
    select
        client_account_id,
        engagement_id,
        id as conflict_id,
        discovery_flow_id,
        raw_import_record_id,
        existing_asset_id,
        candidate_asset_ids,
        conflict_type,
        conflict_key,
        new_asset_data,
        resolution_status,
        resolution_action,
        resolved_asset_id,
        resolved_at,
        created_at
    from source
)

select * from renamed
