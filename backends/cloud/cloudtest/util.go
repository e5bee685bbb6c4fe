package cloudtest

import "io"

func bytesCopy(w io.Writer, r io.Reader) (int64, error) { return io.Copy(w, r) }
