package main

import (
	"github.com/example-inc/memcached-operator/internal/kubeclient"
	"github.com/example-inc/memcached-operator/internal/olm"
)

func newOLMClient() (*olm.Client, error) {
	c, err := kubeclient.NewClient()
	if err != nil {
		return nil, err
	}
	return &olm.Client{Client: c}, nil
}
