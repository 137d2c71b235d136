DROP TABLE glint_webhook_deliveries;
DROP TABLE glint_webhooks;
