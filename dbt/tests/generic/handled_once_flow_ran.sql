{#-
    Once create_assets_from_discovery has run for a flow, no record of the
    flow's import is left unhandled and unlinked (wiring_health's
    raw_records_missing_asset_id). Fails for every raw record of `model` with
    `column_name` (the link) null and `processed_column` false whose import has
    a discovery flow with a row in `inventory_runs`.
-#}
{% test handled_once_flow_ran(
    model, column_name, discovery_flows, inventory_runs,
    processed_column='is_processed', import_column='data_import_id',
    tenant_columns=['client_account_id', 'engagement_id']
) %}
    {{ after_the_build() }}
    {%- if not column_name -%}
        {{ exceptions.raise_compiler_error(
            "handled_once_flow_ran: apply it to the link column (column_name is required)") }}
    {%- endif -%}
    {%- if discovery_flows is none or discovery_flows is string
        or inventory_runs is none or inventory_runs is string -%}
        {{ exceptions.raise_compiler_error(
            "handled_once_flow_ran: `discovery_flows` and `inventory_runs` must be ref()s or source()s") }}
    {%- endif -%}
    {%- if tenant_columns is string or tenant_columns | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "handled_once_flow_ran: `tenant_columns` must be a non-empty list of column names") }}
    {%- endif -%}

    with tested as (
        select * from {{ model }}
    )

    select raw.* from tested as raw
    where
        raw.{{ column_name }} is null
        and not raw.{{ processed_column }}
        and exists (
            select 1
            from {{ discovery_flows }} as flow
            inner join {{ inventory_runs }} as run
                on
                    run.discovery_flow_id = flow.id
                    {%- for tenant_column in tenant_columns %}
                        and run.{{ tenant_column }} = flow.{{ tenant_column }}
                    {%- endfor %}
            where
                flow.data_import_id = raw.{{ import_column }}
                {%- for tenant_column in tenant_columns %}
                    and flow.{{ tenant_column }} = raw.{{ tenant_column }}
                {%- endfor %}
        )
{% endtest %}
