with

source as (
    select * from {{ source('migration', 'discovery_flows') }}
),

renamed as (
    select
        client_account_id,
        engagement_id,
        id as discovery_flow_id,
        flow_id,
        master_flow_id,
        data_import_id,
        flow_name,
        user_id,
        status as flow_status,
        current_phase,
        data_import_completed,
        field_mapping_completed,
        data_cleansing_completed,
        asset_inventory_completed,
        phase_state,
        created_at,
        updated_at
    from source
)

select * from renamed
