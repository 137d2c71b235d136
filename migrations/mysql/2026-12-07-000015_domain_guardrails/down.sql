DROP TABLE glint_domain_guardrails;
