// Command parentlinks keeps child-to-parent links weak (scenario 19), so a
// child the program still holds does not keep its whole tree alive: once
// the tree is dropped, the parent is collected and the child's Parent()
// returns nil.
//
// In Python the weak parent link mostly breaks a reference cycle that
// reference counting alone cannot free. Go's tracing collector frees
// cycles, so a strong parent pointer would not leak a dropped tree; the
// weak link is needed only for what this program shows: a surviving child
// must not pin its ancestors.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"weak"
)

// Node is a node of a tree: parents own their children, children only
// know their parent.
type Node struct {
	Name     string
	parent   weak.Pointer[Node]
	children []*Node
}

// Add makes child a child of n and returns it.
func (n *Node) Add(child *Node) *Node {
	child.parent = weak.Make(n)
	n.children = append(n.children, child)
	return child
}

// Parent returns n's parent, or nil if n has none or it was collected.
func (n *Node) Parent() *Node { return n.parent.Value() }

// Path joins the names from the oldest ancestor still alive down to n.
func (n *Node) Path() string {
	path := n.Name
	for p := n.Parent(); p != nil; p = p.Parent() {
		path = p.Name + "/" + path
	}
	return path
}

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(w io.Writer) error {
	root := &Node{Name: ""}
	etc := root.Add(&Node{Name: "etc"})
	hosts := etc.Add(&Node{Name: "hosts"})
	etc.Add(&Node{Name: "passwd"})
	fmt.Fprintf(w, "path: %s; parent: %s; etc has %d children\n", hosts.Path(), hosts.Parent().Name, len(etc.children))

	rootRef, etcRef := weak.Make(root), weak.Make(etc)
	root, etc = nil, nil // drop the tree; keep only the hosts node
	if !collect(rootRef) || !collect(etcRef) {
		return errors.New("parentlinks: tree still alive after 100 collections")
	}
	fmt.Fprintln(w, "root and etc collected")
	fmt.Fprintf(w, "hosts survives: %q; Parent() == nil: %v; path: %s\n", hosts.Name, hosts.Parent() == nil, hosts.Path())
	runtime.KeepAlive(hosts)
	return nil
}

// collect runs garbage collections until ref's object is gone, at most 100,
// and reports whether it is.
func collect[T any](ref weak.Pointer[T]) bool {
	for i := 0; i < 100 && ref.Value() != nil; i++ {
		runtime.GC()
	}
	return ref.Value() == nil
}
