package framework

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cachev1 "github.com/example-inc/memcached-operator/api/v1"
)

// tableAccept asks the API server for the object as kubectl get prints it:
// a Table with the served CRD's printer columns.
const tableAccept = "application/json;as=Table;v=v1;g=meta.k8s.io"

// PrinterColumns reads the Memcached as `kubectl get memcached` shows it:
// column name to cell, for the printer columns of the CRD the API server
// serves now. empty names the columns without a value.
func PrinterColumns(ctx context.Context, cs kubernetes.Interface, key client.ObjectKey) (cells map[string]string, empty []string, err error) {
	raw, err := cs.CoreV1().RESTClient().Get().AbsPath("/apis", cachev1.GroupVersion.Group, cachev1.GroupVersion.Version,
		"namespaces", key.Namespace, "memcacheds", key.Name).SetHeader("Accept", tableAccept).DoRaw(ctx)
	if err != nil {
		return nil, nil, err
	}
	table := &metav1.Table{}
	if err := json.Unmarshal(raw, table); err != nil {
		return nil, nil, fmt.Errorf("Memcached %s as a Table: %w", key, err)
	}
	if len(table.Rows) != 1 {
		return nil, nil, fmt.Errorf("Memcached %s as a Table: %d rows, want 1", key, len(table.Rows))
	}
	cells = map[string]string{}
	for i, col := range table.ColumnDefinitions {
		v := ""
		if i < len(table.Rows[0].Cells) && table.Rows[0].Cells[i] != nil {
			v = strings.TrimSpace(fmt.Sprint(table.Rows[0].Cells[i]))
		}
		cells[col.Name] = v
		if v == "" {
			empty = append(empty, col.Name)
		}
	}
	return cells, empty, nil
}
