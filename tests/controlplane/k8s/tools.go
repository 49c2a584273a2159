//go:build tools

// Package tools pins the control-plane and node binaries that the test harness
// builds: kube-apiserver, kubectl, kube-controller-manager, kube-scheduler,
// kubelet and kube-proxy from k8s.io/kubernetes, and etcd at the version
// Kubernetes itself requires. The file is never compiled; it keeps go.mod tidy.
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
