//! Cluster backends: an existing kubeconfig, a k3s container, or the local kwok cluster.
