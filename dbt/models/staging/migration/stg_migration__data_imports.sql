with

source as (
    select * from {{ source('migration', 'data_imports') }}
),

renamed as (
    select
        client_account_id,
        engagement_id,
        id as data_import_id,
        master_flow_id,
        import_name,
        import_type,
        filename,
        source_system,
        status as import_status,
        total_records,
        processed_records,
        failed_records,
        imported_by,
        created_at,
        updated_at
    from source
)

select * from renamed
