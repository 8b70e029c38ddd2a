-- One row per wiring gap found by this build (measured_at), with a fixed
-- column contract (after supabase/splinter's lint views): what is wrong, which
-- kind of broken reference, how bad, where (tenant and import by name), which
-- objects, and what to do about it.
with

gaps as (
    select * from {{ ref('int_wiring_gaps') }}
),

tenants as (
    select * from {{ ref('int_tenants') }}
),

data_imports as (
    select * from {{ ref('stg_migration__data_imports') }}
),

checks as (
    select *
    from (
        values
        (
            'assets_missing_discovery_flow_id', 'error',
            'Flow-based asset without a discovery flow',
            'Run discovery.repair_wiring: it takes the flow from the legacy flow_id or from the raw '
            || 'record''s import when exactly one flow fits; otherwise set discovery_flow_id (a '
            || 'discovery_flows.id) and master_flow_id by hand.'
        ),
        (
            'assets_with_unknown_discovery_flow_id', 'error',
            'discovery_flow_id names no discovery flow of the tenant',
            'If it holds a discovery_flows.flow_id, discovery.repair_wiring replaces it with that flow''s '
            || 'id; otherwise point it at the right discovery_flows.id of the same tenant.'
        ),
        (
            'assets_with_mismatched_master_flow_id', 'error',
            'master_flow_id differs from the discovery flow''s',
            'Set the asset''s master_flow_id to its discovery flow''s master_flow_id '
            || '(discovery.repair_wiring does so when it repairs the flow).'
        ),
        (
            'assets_missing_raw_import_id', 'error',
            'Flow-based asset without its raw record',
            'Run discovery.repair_wiring: it links the asset to the one raw record that points to it, or '
            || 'that shares its identity in the flow''s import; otherwise link it by hand.'
        ),
        (
            'assets_with_orphan_raw_ref', 'error',
            'raw_import_records_id names no raw record of the tenant',
            'Run discovery.repair_wiring to relink the asset to the raw record that points to it; otherwise '
            || 'clear or correct raw_import_records_id.'
        ),
        (
            'links_disagree', 'error',
            'The asset''s raw record does not point back to it',
            'Run discovery.repair_wiring: it sets the raw record''s asset_id back to this asset when the '
            || 'record has none or an orphan one; otherwise decide which asset the record belongs to.'
        ),
        (
            'raw_records_missing_asset_id', 'error',
            'Raw record left behind after its flow ran',
            'Call discovery.create_assets_from_discovery again for the flow: it handles the records not processed yet.'
        ),
        (
            'processed_records_missing_asset_id', 'error',
            'Processed raw record with a linking outcome but no asset',
            'Find the asset made from the record (discovery.repair_wiring links it when that asset names '
            || 'the record as its origin) or reset is_processed so that the next run handles it.'
        ),
        (
            'raw_with_orphan_asset_ref', 'error',
            'asset_id names no asset of the tenant',
            'Run discovery.repair_wiring; if the asset is gone, clear the record''s asset_id and reset '
            || 'is_processed so that the next run handles it.'
        ),
        (
            'assets_with_legacy_flow_id_only', 'warn',
            'Asset identified by the legacy flow_id only',
            'Run discovery.repair_wiring: it resolves the legacy flow_id into discovery_flow_id and master_flow_id.'
        )
    ) as catalogue (check_name, severity, title, remediation)
),

final as (
    select
        gaps.check_name || ':' || gaps.object_id as gap_id,
        gaps.check_name,
        checks.title,
        gaps.reference_kind,
        checks.severity,
        gaps.client_account_id,
        gaps.engagement_id,
        tenants.client_account_name,
        tenants.engagement_name,
        gaps.object_type,
        gaps.object_id,
        gaps.asset_id,
        gaps.raw_import_record_id,
        gaps.discovery_flow_id,
        gaps.master_flow_id,
        gaps.data_import_id,
        data_imports.import_name,
        checks.remediation,
        {{ measured_at() }} as measured_at
    from gaps
    inner join checks on gaps.check_name = checks.check_name
    left join tenants
        on
            gaps.client_account_id = tenants.client_account_id
            and gaps.engagement_id = tenants.engagement_id
    left join data_imports
        on
            gaps.client_account_id = data_imports.client_account_id
            and gaps.engagement_id = data_imports.engagement_id
            and gaps.data_import_id = data_imports.data_import_id
)

select * from final
