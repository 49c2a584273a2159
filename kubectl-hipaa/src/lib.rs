//! kubectl hipaa: offline scans, live status and evidence reports
