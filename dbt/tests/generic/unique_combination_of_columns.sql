{#- Fails for every combination of `combination_of_columns` held by more than one row. -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
    {{ after_the_build() }}
    {%- if combination_of_columns is string or combination_of_columns | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "unique_combination_of_columns: `combination_of_columns` must be a non-empty list") }}
    {%- endif -%}

    select
        {{ combination_of_columns | join(', ') }},
        count(*) as row_count
    from {{ model }}
    group by {{ combination_of_columns | join(', ') }}
    having count(*) > 1
{% endtest %}
