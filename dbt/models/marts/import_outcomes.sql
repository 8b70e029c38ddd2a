-- One row per import and discovery flow (an import no flow has started yet
-- has one row with a null flow) as of this build (measured_at): its tenant by
-- name, its records by outcome, the links that hold and those that are
-- broken, its conflicts, and the runs of create_assets_from_discovery with
-- their durations.
with

tenants as (
    select * from {{ ref('int_tenants') }}
),

gaps as (
    select * from {{ ref('int_wiring_gaps') }}
),

data_imports as (
    select * from {{ ref('stg_migration__data_imports') }}
),

discovery_flows as (
    select * from {{ ref('stg_migration__discovery_flows') }}
),

raw_records as (
    select * from {{ ref('int_raw_record_status') }}
),

conflicts as (
    select * from {{ ref('stg_migration__asset_conflict_resolutions') }}
),

inventory_runs as (
    select * from {{ ref('stg_migration__asset_inventory_runs') }}
),

record_outcomes as (
    select
        client_account_id,
        engagement_id,
        data_import_id,
        count(*) as total_records,
        count(*) filter (where not is_processed) as records_unprocessed,
        count(*) filter (where processing_status = 'created') as records_created,
        count(*) filter (where processing_status = 'matched') as records_matched,
        count(*) filter (where processing_status = 'conflict') as records_conflict,
        count(*) filter (where processing_status = 'invalid') as records_invalid,
        count(*) filter (where asset_found) as records_linked
    from raw_records
    group by client_account_id, engagement_id, data_import_id
),

-- Broken links of the import: its raw records and its assets with a gap.
broken_links as (
    select
        client_account_id,
        engagement_id,
        data_import_id,
        count(distinct object_id) filter (where object_type = 'raw_import_record') as records_link_broken,
        count(distinct object_id) filter (where object_type = 'asset') as assets_link_broken
    from gaps
    where data_import_id is not null
    group by client_account_id, engagement_id, data_import_id
),

conflict_counts as (
    select
        client_account_id,
        engagement_id,
        discovery_flow_id,
        count(*) filter (where resolution_status = 'pending') as conflicts_pending,
        count(*) filter (where resolution_status = 'resolved') as conflicts_resolved
    from conflicts
    group by client_account_id, engagement_id, discovery_flow_id
),

run_stats as (
    select
        client_account_id,
        engagement_id,
        discovery_flow_id,
        count(*) as run_count,
        min(started_at) as first_run_started_at,
        max(finished_at) as last_run_finished_at,
        sum(duration_seconds) as total_run_seconds,
        max(duration_seconds) as max_run_seconds,
        avg(duration_seconds) as avg_run_seconds
    from inventory_runs
    group by client_account_id, engagement_id, discovery_flow_id
),

final as (
    select
        data_imports.client_account_id,
        data_imports.engagement_id,
        tenants.client_account_name,
        tenants.engagement_name,
        data_imports.data_import_id,
        data_imports.import_name,
        data_imports.import_type,
        data_imports.filename,
        data_imports.import_status,
        data_imports.created_at as imported_at,
        discovery_flows.discovery_flow_id,
        discovery_flows.flow_id,
        discovery_flows.master_flow_id,
        discovery_flows.flow_status,
        discovery_flows.current_phase,
        discovery_flows.asset_inventory_completed,
        coalesce(record_outcomes.total_records, 0) as total_records,
        coalesce(record_outcomes.records_unprocessed, 0) as records_unprocessed,
        coalesce(record_outcomes.records_created, 0) as records_created,
        coalesce(record_outcomes.records_matched, 0) as records_matched,
        coalesce(record_outcomes.records_conflict, 0) as records_conflict,
        coalesce(record_outcomes.records_invalid, 0) as records_invalid,
        coalesce(record_outcomes.records_linked, 0) as records_linked,
        coalesce(broken_links.records_link_broken, 0) as records_link_broken,
        coalesce(broken_links.assets_link_broken, 0) as assets_link_broken,
        coalesce(conflict_counts.conflicts_pending, 0) as conflicts_pending,
        coalesce(conflict_counts.conflicts_resolved, 0) as conflicts_resolved,
        coalesce(run_stats.run_count, 0) as run_count,
        run_stats.first_run_started_at,
        run_stats.last_run_finished_at,
        run_stats.total_run_seconds,
        run_stats.max_run_seconds,
        run_stats.avg_run_seconds,
        {{ measured_at() }} as measured_at
    from data_imports
    left join tenants
        on
            data_imports.client_account_id = tenants.client_account_id
            and data_imports.engagement_id = tenants.engagement_id
    left join broken_links
        on
            data_imports.client_account_id = broken_links.client_account_id
            and data_imports.engagement_id = broken_links.engagement_id
            and data_imports.data_import_id = broken_links.data_import_id
    left join discovery_flows
        on
            data_imports.client_account_id = discovery_flows.client_account_id
            and data_imports.engagement_id = discovery_flows.engagement_id
            and data_imports.data_import_id = discovery_flows.data_import_id
    left join record_outcomes
        on
            data_imports.client_account_id = record_outcomes.client_account_id
            and data_imports.engagement_id = record_outcomes.engagement_id
            and data_imports.data_import_id = record_outcomes.data_import_id
    left join conflict_counts
        on
            discovery_flows.client_account_id = conflict_counts.client_account_id
            and discovery_flows.engagement_id = conflict_counts.engagement_id
            and discovery_flows.discovery_flow_id = conflict_counts.discovery_flow_id
    left join run_stats
        on
            discovery_flows.client_account_id = run_stats.client_account_id
            and discovery_flows.engagement_id = run_stats.engagement_id
            and discovery_flows.discovery_flow_id = run_stats.discovery_flow_id
)

select * from final
