//! `faultline serve` replicas sharing one PostgreSQL database.
