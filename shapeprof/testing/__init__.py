"""Test and benchmark support: tiny models built locally from transformers config classes."""
