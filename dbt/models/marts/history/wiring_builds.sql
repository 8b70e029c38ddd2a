-- One row per `dbt build` (measured_at): how many tenants it measured and how
-- many were unhealthy, the gaps open, found and resolved. The last model of
-- every build: each data test runs after it (macros/after_the_build.sql), so
-- that a failing test never keeps a mart or the history from being built.
-- depends_on: {{ ref('asset_lineage') }}, {{ ref('import_outcomes') }}, {{ ref('asset_change_history') }}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    full_refresh=false,
    on_schema_change='append_new_columns',
) }}

with

health as (
    select
        count(*) as tenants,
        count(*) filter (where health_status = 'unhealthy') as unhealthy_tenants
    from {{ ref('wiring_health_history') }}
    where measured_at = {{ measured_at() }}
),

gaps as (
    select
        count(*) filter (where resolved_at is null) as gaps_open,
        count(*) filter (where first_seen_at = {{ measured_at() }}) as gaps_found,
        count(*) filter (where resolved_at = {{ measured_at() }}) as gaps_resolved
    from {{ ref('wiring_gaps_history') }}
),

final as (
    select
        {{ measured_at() }} as measured_at,
        cast('{{ invocation_id }}' as text) as invocation_id,
        health.tenants,
        health.unhealthy_tenants,
        gaps.gaps_open,
        gaps.gaps_found,
        gaps.gaps_resolved
    from health
    cross join gaps
)

select * from final
{% if is_incremental() %}
    where not exists (
        select 1 from {{ this }} as already
        where already.measured_at = {{ measured_at() }}
    )
{% endif %}
