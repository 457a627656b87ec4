"""Thin typed function views: parse, call one service or selector, render."""
