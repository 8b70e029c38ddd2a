{#-
    An asset's master flow is its discovery flow's (DESIGN.md, invariant 3).
    Fails for every row of `model` whose flow (`flow_column` → `to.field`,
    same tenant) exists and whose `column_name` IS DISTINCT FROM that flow's
    `to_master_column`. A flow that is not found is tenant_consistent_reference's
    business.
-#}
{% test master_flow_agreement(
    model, column_name, to, flow_column='discovery_flow_id', field='id',
    to_master_column='master_flow_id',
    tenant_columns=['client_account_id', 'engagement_id']
) %}
    {{ after_the_build() }}
    {%- if not column_name -%}
        {{ exceptions.raise_compiler_error(
            "master_flow_agreement: apply it to the master flow column (column_name is required)") }}
    {%- endif -%}
    {%- if to is none or to is string -%}
        {{ exceptions.raise_compiler_error(
            "master_flow_agreement: `to` must be a ref() or source(), got " ~ to) }}
    {%- endif -%}
    {%- if not flow_column or not to_master_column -%}
        {{ exceptions.raise_compiler_error(
            "master_flow_agreement: `flow_column` and `to_master_column` are required") }}
    {%- endif -%}
    {%- if tenant_columns is string or tenant_columns | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "master_flow_agreement: `tenant_columns` must be a non-empty list of column names") }}
    {%- endif -%}

    with tested as (
        select * from {{ model }}
    )

    select
        child.*,
        flows.{{ to_master_column }} as flow_master_flow_id
    from tested as child
    inner join {{ to }} as flows
        on
            flows.{{ field }} = child.{{ flow_column }}
            {%- for tenant_column in tenant_columns %}
                and flows.{{ tenant_column }} = child.{{ tenant_column }}
            {%- endfor %}
    where child.{{ column_name }} is distinct from flows.{{ to_master_column }}
{% endtest %}
