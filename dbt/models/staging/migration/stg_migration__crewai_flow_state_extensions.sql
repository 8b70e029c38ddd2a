with

source as (
    select * from {{ source('migration', 'crewai_flow_state_extensions') }}
),

renamed as (
    select
        client_account_id,
        engagement_id,
        id as flow_state_id,
        flow_id as master_flow_id,
        flow_type,
        flow_name,
        flow_status,
        flow_persistence_data,
        user_id,
        created_at,
        updated_at
    from source
)

select * from renamed
