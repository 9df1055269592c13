# Prometheus from Debian's package, FROM scratch: scrapes the compose ensemble's /metrics with
# ZooKeeper's alert rules (etc/prometheus/). Staged by docker/build-images.sh.
FROM scratch
COPY rootfs/ /
COPY --chown=65534:65534 owned/ /
USER 65534:65534
WORKDIR /prometheus
EXPOSE 9090
VOLUME ["/prometheus"]
ENTRYPOINT ["/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus", "--web.listen-address=:9090"]
