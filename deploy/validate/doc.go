// Package validate holds the offline tests of Signpost's Kubernetes manifests
// (deploy/kubernetes) and Helm chart (deploy/helm/signpost). Run them with
// scripts/test-k8s.sh, which also supplies the signpost binary
// (SIGNPOST_BIN) for the consistency checks.
package validate
