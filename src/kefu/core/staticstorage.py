"""Static files in production: whitenoise's compressed manifest storage (hashed names, gzip),
tolerant of a source map that is referenced but not shipped.

Minified vendor files end with ``//# sourceMappingURL=x.min.js.map``; Django rewrites that
reference to the hashed name and fails collectstatic when the map is absent. A source map is a
debugging aid, so a missing one leaves the comment as it is; any other missing file still fails.
"""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticStorage(CompressedManifestStaticFilesStorage):
    def url_converter(self, name, hashed_files, template=None):
        convert = super().url_converter(name, hashed_files, template)

        def tolerant(matchobj):
            try:
                return convert(matchobj)
            except ValueError:
                if (matchobj.groupdict().get("url") or "").strip().split("?")[0].endswith(".map"):
                    return matchobj.group(0)
                raise

        return tolerant
