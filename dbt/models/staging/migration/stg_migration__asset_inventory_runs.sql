with

source as (
    select * from {{ source('migration', 'asset_inventory_runs') }}
),

renamed as (
    select
        client_account_id,
        engagement_id,
        id as inventory_run_id,
        discovery_flow_id,
        mode as run_mode,
        started_at,
        finished_at,
        records_handled,
        created as records_created,
        matched as records_matched,
        conflicts as records_conflict,
        invalid as records_invalid,
        already_linked as records_already_linked,
        extract(epoch from finished_at - started_at) as duration_seconds
    from source
)

select * from renamed
