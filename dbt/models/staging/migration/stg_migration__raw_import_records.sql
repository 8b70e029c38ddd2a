with

source as (
    select * from {{ source('migration', 'raw_import_records') }}
),

renamed as (
    select
        client_account_id,
        engagement_id,
        id as raw_import_record_id,
        data_import_id,
        master_flow_id,
        row_number,
        raw_data,
        cleansed_data,
        validation_errors,
        is_valid,
        is_processed,
        processed_at,
        processing_status,
        processing_notes,
        asset_id,
        created_at
    from source
)

select * from renamed
