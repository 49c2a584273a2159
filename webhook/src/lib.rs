//! The HIPAA Guard validating admission webhook
