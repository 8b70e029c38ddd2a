{#-
    Invariant 3 (DESIGN.md): a flow-based asset has its discovery flow, the
    master flow of that flow, and a raw record that points back to it. Fails
    for every asset of `model` whose `method_column` equals `method_value` and
    that is not wired, with the first problem found in column `wiring_problem`
    (the same order as migration.assert_asset_wired). Exclude soft-deleted
    assets with the test's `where` config.
-#}
{% test flow_based_fully_wired(
    model, discovery_flows, raw_records,
    method_column='discovery_method', method_value='flow_based',
    tenant_columns=['client_account_id', 'engagement_id']
) %}
    {{ after_the_build() }}
    {%- if discovery_flows is none or discovery_flows is string
        or raw_records is none or raw_records is string -%}
        {{ exceptions.raise_compiler_error(
            "flow_based_fully_wired: `discovery_flows` and `raw_records` must be ref()s or source()s") }}
    {%- endif -%}
    {%- if not method_column or not method_value -%}
        {{ exceptions.raise_compiler_error(
            "flow_based_fully_wired: `method_column` and `method_value` are required") }}
    {%- endif -%}
    {%- if tenant_columns is string or tenant_columns | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "flow_based_fully_wired: `tenant_columns` must be a non-empty list of column names") }}
    {%- endif -%}

    with

    tested as (
        select * from {{ model }}
    ),

    checked as (
        select
            asset.*,
            case
                when asset.discovery_flow_id is null
                    then 'discovery_flow_id is null'
                when flow.id is null
                    then 'discovery_flow_id names no discovery flow of its tenant'
                when asset.master_flow_id is distinct from flow.master_flow_id
                    then 'master_flow_id differs from its discovery flow''s'
                when asset.raw_import_records_id is null
                    then 'raw_import_records_id is null'
                when raw.id is null
                    then 'raw_import_records_id names no raw record of its tenant'
                when raw.asset_id is distinct from asset.id
                    then 'its raw record''s asset_id does not point back to it'
            end as wiring_problem
        from tested as asset
        left join {{ discovery_flows }} as flow
            on
                flow.id = asset.discovery_flow_id
                {%- for tenant_column in tenant_columns %}
                    and flow.{{ tenant_column }} = asset.{{ tenant_column }}
                {%- endfor %}
        left join {{ raw_records }} as raw
            on
                raw.id = asset.raw_import_records_id
                {%- for tenant_column in tenant_columns %}
                    and raw.{{ tenant_column }} = asset.{{ tenant_column }}
                {%- endfor %}
        where asset.{{ method_column }} = '{{ method_value }}'
    )

    select * from checked
    where wiring_problem is not null
{% endtest %}
