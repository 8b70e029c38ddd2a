{#-
    raw_import_records.asset_id ⇄ assets.raw_import_records_id (DESIGN.md,
    ID meanings). Fails for every row of `model` whose `column_name` finds its
    row of `to` (same tenant) while that row's `back_column` IS DISTINCT FROM
    the model row's `key` (null included). An orphan reference is the business
    of tenant_consistent_reference, not of this test.
-#}
{% test bidirectional_link(
    model, column_name, to, back_column, field='id', key='id',
    tenant_columns=['client_account_id', 'engagement_id']
) %}
    {{ after_the_build() }}
    {%- if not column_name -%}
        {{ exceptions.raise_compiler_error(
            "bidirectional_link: apply it to a column (column_name is required)") }}
    {%- endif -%}
    {%- if to is none or to is string -%}
        {{ exceptions.raise_compiler_error(
            "bidirectional_link: `to` must be a ref() or source(), got " ~ to) }}
    {%- endif -%}
    {%- if not back_column -%}
        {{ exceptions.raise_compiler_error(
            "bidirectional_link: `back_column` (the column of `to` pointing back) is required") }}
    {%- endif -%}
    {%- if tenant_columns is string or tenant_columns | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "bidirectional_link: `tenant_columns` must be a non-empty list of column names") }}
    {%- endif -%}

    with tested as (
        select * from {{ model }}
    )

    select
        child.*,
        parent.{{ back_column }} as target_back_reference
    from tested as child
    inner join {{ to }} as parent
        on
            parent.{{ field }} = child.{{ column_name }}
            {%- for tenant_column in tenant_columns %}
                and parent.{{ tenant_column }} = child.{{ tenant_column }}
            {%- endfor %}
    where parent.{{ back_column }} is distinct from child.{{ key }}
{% endtest %}
