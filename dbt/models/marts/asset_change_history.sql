-- One row per attribute value that a run or a conflict resolution changed on
-- an existing asset (migration.asset_changes), with the tenant and the asset
-- by name: when it changed (changed_at), from what to what, by which run or
-- conflict, and whether undo_import reverted it.
with

changes as (
    select * from {{ ref('stg_migration__asset_changes') }}
),

tenants as (
    select * from {{ ref('int_tenants') }}
),

assets as (
    select * from {{ ref('stg_migration__assets') }}
),

final as (
    select
        changes.client_account_id,
        changes.engagement_id,
        tenants.client_account_name,
        tenants.engagement_name,
        changes.asset_change_id,
        changes.asset_id,
        assets.asset_name,
        changes.changed_field,
        changes.old_value,
        changes.new_value,
        case
            when changes.conflict_id is not null then 'conflict_resolution'
            when changes.inventory_run_id is not null then 'inventory_run'
            else 'other'
        end as changed_by,
        changes.inventory_run_id,
        changes.conflict_id,
        changes.raw_import_record_id,
        changes.changed_at,
        changes.reverted_at
    from changes
    left join tenants
        on
            changes.client_account_id = tenants.client_account_id
            and changes.engagement_id = tenants.engagement_id
    left join assets
        on
            changes.client_account_id = assets.client_account_id
            and changes.engagement_id = assets.engagement_id
            and changes.asset_id = assets.asset_id
)

select * from final
