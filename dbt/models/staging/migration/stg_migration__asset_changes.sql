with

source as (
    select * from {{ source('migration', 'asset_changes') }}
),

renamed as (
    select
        client_account_id,
        engagement_id,
        id as asset_change_id,
        asset_id,
        field as changed_field,
        old_value,
        new_value,
        run_id as inventory_run_id,
        conflict_id,
        raw_import_record_id,
        changed_at,
        reverted_at
    from source
)

select * from renamed
