-- Per-domain guardrails (`/v2/glint/domains/{domain_id}/guardrails`): one row per domain whose
-- admin set any, as a comma-separated list of guardrail names, with who set them and when. Read
-- by primary key on each guarded action (a visibility made public or community, a share).
CREATE TABLE `glint_domain_guardrails` (
  `domain_id` varchar(255) NOT NULL,
  `guardrails` varchar(64) NOT NULL,
  `updated_at` datetime NOT NULL,
  `updated_by` varchar(255) DEFAULT NULL,
  PRIMARY KEY (`domain_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3 COLLATE=utf8mb3_general_ci;
