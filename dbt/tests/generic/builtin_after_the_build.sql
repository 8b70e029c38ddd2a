{#- dbt's four built-in generic tests, unchanged, except that each runs after
    the whole build (macros/after_the_build.sql) so that it never keeps a
    mart or the history from being built. -#}

{% test unique(model, column_name) %}
    {{ after_the_build() }}
    {{ adapter.dispatch('test_unique', 'dbt')(model, column_name) }}
{% endtest %}

{% test not_null(model, column_name) %}
    {{ after_the_build() }}
    {{ adapter.dispatch('test_not_null', 'dbt')(model, column_name) }}
{% endtest %}

{% test accepted_values(model, column_name, values, quote=True) %}
    {{ after_the_build() }}
    {{ adapter.dispatch('test_accepted_values', 'dbt')(model, column_name, values, quote) }}
{% endtest %}

{% test relationships(model, column_name, to, field) %}
    {{ after_the_build() }}
    {{ adapter.dispatch('test_relationships', 'dbt')(model, column_name, to, field) }}
{% endtest %}
