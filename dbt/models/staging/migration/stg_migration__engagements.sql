with

source as (
    select * from {{ source('migration', 'engagements') }}
),

renamed as (
    select
        client_account_id,
        id as engagement_id,
        name as engagement_name,
        created_at
    from source
)

select * from renamed
