-- One row per tenant (engagement) with the names analysts know it by.
with

engagements as (
    select * from {{ ref('stg_migration__engagements') }}
),

client_accounts as (
    select * from {{ ref('stg_migration__client_accounts') }}
),

final as (
    select
        engagements.client_account_id,
        engagements.engagement_id,
        client_accounts.client_account_name,
        engagements.engagement_name
    from engagements
    left join client_accounts
        on engagements.client_account_id = client_accounts.client_account_id
)

select * from final
