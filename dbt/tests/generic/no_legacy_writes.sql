{#-
    assets.flow_id is legacy: no new row writes it (DESIGN.md, ID meanings).
    Fails for every row of `model` with `column_name` set, created at or after
    `since` when given (var legacy_flow_id_cutoff by default; null = any row).
    Meant to be configured with severity warn: rows restored from the old
    platform may carry it until repair_wiring has run.
-#}
{% test no_legacy_writes(
    model, column_name, created_column='created_at',
    since=var('legacy_flow_id_cutoff', none)
) %}
    {{ after_the_build() }}
    {%- if not column_name -%}
        {{ exceptions.raise_compiler_error(
            "no_legacy_writes: apply it to the legacy column (column_name is required)") }}
    {%- endif -%}
    {%- if since is not none and not created_column -%}
        {{ exceptions.raise_compiler_error(
            "no_legacy_writes: `since` needs `created_column`") }}
    {%- endif -%}

    select * from {{ model }}
    where
        {{ column_name }} is not null
        {%- if since is not none %}
            and {{ created_column }} >= cast('{{ since }}' as timestamptz)
        {%- endif %}
{% endtest %}
