{#-
    Invariant 1 (DESIGN.md): a reference finds a row of the same client account
    and engagement. Fails for every row of `model` whose `column_name` is set
    but finds no row of `to` with `field` equal to it AND the same tenant
    columns: cross-tenant links and orphans alike.
-#}
{% test tenant_consistent_reference(
    model, column_name, to, field='id',
    tenant_columns=['client_account_id', 'engagement_id']
) %}
    {{ after_the_build() }}
    {%- if not column_name -%}
        {{ exceptions.raise_compiler_error(
            "tenant_consistent_reference: apply it to a column (column_name is required)") }}
    {%- endif -%}
    {%- if to is none or to is string -%}
        {{ exceptions.raise_compiler_error(
            "tenant_consistent_reference: `to` must be a ref() or source(), got " ~ to) }}
    {%- endif -%}
    {%- if tenant_columns is string or tenant_columns | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "tenant_consistent_reference: `tenant_columns` must be a non-empty list of column names") }}
    {%- endif -%}

    with tested as (
        select * from {{ model }}
    )

    select child.*
    from tested as child
    where
        child.{{ column_name }} is not null
        and not exists (
            select 1
            from {{ to }} as parent
            where
                parent.{{ field }} = child.{{ column_name }}
                {%- for tenant_column in tenant_columns %}
                    and parent.{{ tenant_column }} = child.{{ tenant_column }}
                {%- endfor %}
        )
{% endtest %}
