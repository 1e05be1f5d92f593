{{/* A single-replica StatefulSet with its headless Service, for PostgreSQL and Redis.
     Arguments: root, name, component, port, uid, spec (the component's values), container (extra
     container fields as YAML), mountPath. */}}
{{- define "spreaders.datastore" -}}
{{- $fullname := printf "%s-%s" (include "spreaders.fullname" .root) .name -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ $fullname }}
  labels:
    {{- include "spreaders.labels" .root | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
spec:
  clusterIP: None
  selector:
    {{- include "spreaders.selectorLabels" .root | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
  ports:
    - name: {{ .name }}
      port: {{ .port }}
      targetPort: {{ .name }}
      protocol: TCP
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {{ $fullname }}
  labels:
    {{- include "spreaders.labels" .root | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
spec:
  serviceName: {{ $fullname }}
  replicas: 1
  selector:
    matchLabels:
      {{- include "spreaders.selectorLabels" .root | nindent 6 }}
      app.kubernetes.io/component: {{ .component }}
  template:
    metadata:
      labels:
        {{- include "spreaders.labels" .root | nindent 8 }}
        app.kubernetes.io/component: {{ .component }}
    spec:
      automountServiceAccountToken: false
      securityContext:
        {{- include "spreaders.podSecurity" (dict "uid" .uid) | nindent 8 }}
      containers:
        - name: {{ .name }}
          image: {{ .spec.image }}
          ports:
            - name: {{ .name }}
              containerPort: {{ .port }}
              protocol: TCP
          {{- .container | nindent 10 }}
          securityContext:
            {{- include "spreaders.containerSecurity" . | nindent 12 }}
          resources:
            {{- toYaml .spec.resources | nindent 12 }}
          volumeMounts:
            - name: data
              mountPath: {{ .mountPath }}
            - name: run
              mountPath: /var/run/{{ .name }}
            - name: tmp
              mountPath: /tmp
      volumes:
        - name: run
          emptyDir: {}
        - name: tmp
          emptyDir: {}
  volumeClaimTemplates:
    - metadata:
        name: data
      spec:
        accessModes: ["ReadWriteOnce"]
        {{- with .spec.storageClass }}
        storageClassName: {{ . }}
        {{- end }}
        resources:
          requests:
            storage: {{ .spec.storage }}
{{- end -}}
