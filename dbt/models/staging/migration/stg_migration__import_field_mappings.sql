with

source as (
    select * from {{ source('migration', 'import_field_mappings') }}
),

renamed as (
    select
        client_account_id,
        engagement_id,
        id as field_mapping_id,
        data_import_id,
        source_field,
        target_field,
        status as mapping_status,
        cast(confidence_score as numeric(4, 3)) as confidence_score,
        created_at,
        updated_at
    from source
)

select * from renamed
