-- Example schema of the CDC pipeline (topologies/cdc-loan-features.yaml).
--   mariadb -h 127.0.0.1 -u root -p loans < scripts/cdc-example-schema.sql
-- The server needs log_bin and binlog_format=ROW (binlog_row_image=FULL, the default), so the
-- mysql-binlog source sees full before/after images. DATETIME columns are written in UTC: the
-- topology reads them with `timezone: UTC`.
CREATE TABLE IF NOT EXISTS loan_application (
  id          BIGINT NOT NULL AUTO_INCREMENT,
  user_id     VARCHAR(64) NOT NULL,
  amount      DECIMAL(18,2) NOT NULL,
  status      ENUM('applied','approved','rejected') NOT NULL DEFAULT 'applied',
  channel     VARCHAR(32) NULL,
  applied_at  DATETIME(3) NOT NULL,
  updated_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id),
  KEY idx_loan_application_user (user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS repayment (
  id          BIGINT NOT NULL AUTO_INCREMENT,
  user_id     VARCHAR(64) NOT NULL,
  loan_id     BIGINT NOT NULL,
  principal   DECIMAL(18,2) NOT NULL,
  repaid_at   DATETIME(3) NOT NULL,
  PRIMARY KEY (id),
  KEY idx_repayment_user (user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
