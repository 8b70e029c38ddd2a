with

source as (
    select * from {{ source('migration', 'client_accounts') }}
),

renamed as (
    select
        id as client_account_id,
        name as client_account_name,
        created_at
    from source
)

select * from renamed
