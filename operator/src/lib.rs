//! The HIPAA Guard operator
