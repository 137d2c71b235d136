-- Webhooks of the sharing extensions: a project's subscriptions (events about the shares it owns
-- or receives) and the log of every delivery attempt. Removed with the webhook.
CREATE TABLE `glint_webhooks` (
  `id` varchar(36) NOT NULL,
  `project_id` varchar(255) NOT NULL,
  `url` text NOT NULL,
  `secret` varchar(128) NOT NULL,
  `events` text NOT NULL,
  `created_at` datetime NOT NULL,
  PRIMARY KEY (`id`),
  KEY `ix_glint_webhooks_project` (`project_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3 COLLATE=utf8mb3_general_ci;

CREATE TABLE `glint_webhook_deliveries` (
  `id` bigint NOT NULL AUTO_INCREMENT,
  `webhook_id` varchar(36) NOT NULL,
  `event_id` varchar(36) NOT NULL,
  `event_type` varchar(64) NOT NULL,
  `attempt` int NOT NULL,
  `at` datetime NOT NULL,
  `status_code` int DEFAULT NULL,
  `error` text DEFAULT NULL,
  `delivered` tinyint(1) NOT NULL,
  PRIMARY KEY (`id`),
  KEY `ix_glint_webhook_deliveries_webhook` (`webhook_id`, `id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3 COLLATE=utf8mb3_general_ci;
