package postgres

import "io/fs"

// mustSub returns the subtree dir of an embedded file system; the directory is part of the
// binary, so its absence is a build defect.
func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return sub
}
