//! Test support: a real kube-apiserver, etcd and moto for end-to-end tests
